export { FakeDatapath, FakeDatapathCall, type FakeDatapathOptions } from './fake-datapath.js';
