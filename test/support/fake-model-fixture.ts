/** Fake model servers started by a test and closed after each test. */
import { afterEach } from 'vitest';
import { startFakeModel, type FakeModelOptions, type FakeModelServer } from '../../src/fake-model/server.ts';

/** Call at the top level of a test file: `const start = fakeModelPerTest();`. */
export function fakeModelPerTest(): (options: FakeModelOptions) => Promise<FakeModelServer> {
  const servers: FakeModelServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return async (options) => {
    const server = await startFakeModel(options);
    servers.push(server);
    return server;
  };
}
