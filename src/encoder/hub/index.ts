export { pullModel, cachedModel, offlineAlternatives, HUB_ONNX_CANDIDATES, HUB_REQUIRED_FILES, HUB_OPTIONAL_FILES, MANIFEST_FILE } from './pull-model.js';
export type { PullOptions, PullProgress, PulledModel, PulledFile } from './pull-model.js';
export { downloadFile } from './download-file.js';
export type { DownloadOptions, DownloadResult } from './download-file.js';
export { defaultCacheDir, hubEndpoint, isOffline, isRepoId, repoCacheDir, revisionFolderName, DEFAULT_HUB_ENDPOINT, DEFAULT_REVISION } from './hub-env.js';
