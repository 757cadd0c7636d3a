// Building FSM events from what the session layer has in hand: a WireError thrown by the
// codec becomes the RFC 4271 §8.1.4 event whose NOTIFICATION it must produce.
import type { WireError } from '../errors.ts';
import { NotifyCode } from '../wire/types.ts';
import type { FsmEvent } from './types.ts';

type MessageErrorEvent = Extract<FsmEvent, { type: 'BGPHeaderErr' | 'BGPOpenMsgErr' | 'UpdateMsgErr' }>;

/**
 * Code 1 → BGPHeaderErr (Event 21), code 2 → BGPOpenMsgErr (Event 22), anything else
 * (UPDATE errors, RFC 7313 ROUTE-REFRESH errors) → UpdateMsgErr (Event 28), which carries
 * its code through to the NOTIFICATION.
 */
export function eventFromWireError(
  error: Pick<WireError, 'notifyCode' | 'notifySubcode' | 'data' | 'message'>,
): MessageErrorEvent {
  const type =
    error.notifyCode === NotifyCode.messageHeader
      ? 'BGPHeaderErr'
      : error.notifyCode === NotifyCode.openMessage
        ? 'BGPOpenMsgErr'
        : 'UpdateMsgErr';
  return {
    type,
    code: error.notifyCode,
    subcode: error.notifySubcode,
    data: error.data,
    message: error.message,
  };
}
