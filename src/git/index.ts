/** The git layer: the only place that runs git. */
export { BatchReader, type BatchObject, type BatchReaderOptions } from './batch-reader.js';
export { formatCommitTime, parseSignatureStatus } from './commit-format.js';
export { gitDirOf } from './local-refs.js';
export { createGitReader, type GitReaderOptions, type LocalGitReader } from './reader.js';
export {
  cloneRepository,
  commitAll,
  initBareRepository,
  pushBranch,
  readCheckedOutBranch,
  switchToBranch,
  type CommitAuthor,
  type PorcelainCommandOptions,
} from './porcelain.js';
export { redactGitText, redactRemote } from './redact-remote.js';
export {
  defaultReplicaId,
  isLocalRemote,
  resolveStateDir,
  type ResolveStateDirOptions,
} from './state-dir.js';
export { acquireStateLock, isProcessAlive, type LockHolder, type StateLock } from './state-lock.js';
export {
  openGitStore,
  parsePushRejection,
  REPLICA_TRAILER,
  type CavraGitStore,
  type CreateCommitOptions,
  type GitStoreOptions,
} from './store.js';
