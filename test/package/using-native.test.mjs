// `using` / `await using` as Node itself runs them, with no TypeScript
// lowering (disposable.test.ts is the lowered twin that runs everywhere).
// Plain JavaScript, so the syntax reaches V8 as written. Node 24 parses it;
// Node 20 and 22 throw a SyntaxError while loading a module that holds it,
// so the statements live in using-native-cases.mjs and this file loads that
// only where Node can parse it, and otherwise skips saying why.
import t from 'tap';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  t.plan(0, `Node ${process.versions.node} cannot parse \`using\` (Node 24 can): npm run test:node runs this file on Node 24`);
} else {
  const { runCases } = await import('./using-native-cases.mjs');
  await runCases(t);
}
