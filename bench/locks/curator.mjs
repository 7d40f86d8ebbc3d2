// Apache Curator's InterProcessMutex in bench:locks: filled in by the Curator interoperability work; until then it
// reports that it did not run.
export async function curatorScenarios() {
  return { rows: [], note: 'not run (no Curator harness in this build)' };
}
