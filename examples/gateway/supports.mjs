// What the example gateway supports, in lanesim's declaration shape (docs/ADAPTER.md
// "Declaring what you support"). The adapter passes it as `supports`; gateway.json5 repeats it
// under its `supports` key for the black-box run, so both paths give the same n/a verdicts.
export const SUPPORTS = Object.freeze({
  queueModes: ['followup'],
  dropPolicies: [],
  channels: false,
  routes: false,
  nestedAgents: false,
  nestedAgentParallel: false,
  subagents: false,
  diagnostics: false,
  history: false,
  queueClear: false,
  shutdown: false,
});
