// Selectors in resources: the one engine is felix's (felix/calc/selector-expr.ts), where Calico
// selector text and Kubernetes label selectors compile into one expression tree and one matcher.
export type { Labels, Selector, SelectorExpr } from '../../felix/index.ts';
export {
  compileSelector,
  evaluateSelector,
  labelSelectorToExpr,
  parseSelector,
  printSelector,
  SelectorParseError,
  selectorKeys,
} from '../../felix/index.ts';
