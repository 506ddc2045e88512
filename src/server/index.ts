/** The passage-ranking server (`plait serve`): see docs/ARCHITECTURE.md, "server/". */
export { startServer, serveEngine, closeOnSignals, openEngine } from './lifecycle.js';
export type { RunningServer } from './lifecycle.js';
export { createApp } from './app.js';
export type { AppOptions } from './app.js';
export type { ClusterWriteTarget, DocumentsRoutesOptions, ShardReplicaTarget } from './routes/documents.js';
export { Engine, indexGeneration, normaliseQuery } from './engine.js';
export type { EngineParts, IndexEntry, RefreshProblem, RerankerEntry, ServedIndex, QueryAnswer } from './engine.js';
export { reloadApiKeys, resolveServerOptions } from './options.js';
export type { ServerOptions, ResolvedServerOptions } from './options.js';
export { HTTP_STATUS, statusFor } from './http-errors.js';
export { openCoordinatorEngine, clusterNameOf } from './coordinator-engine.js';
export type { CoordinatorOptions, Coordinator } from './coordinator-engine.js';
