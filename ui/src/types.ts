// Names for the API's schemas, generated from the server's OpenAPI document (src/api-types.ts,
// `npm run gen:api`); nothing here is written by hand except the aliases.
import type { components } from "./api-types";

type S = components["schemas"];
export type DeploymentOut = S["DeploymentOut"];
export type DeploymentSpec = S["DeploymentSpec"];
export type DeploymentStatus = S["DeploymentStatus"];
export type ReplicaStatus = S["ReplicaStatus"];
export type Resources = S["Resources"];
export type RevisionOut = S["RevisionOut"];
export type ModelSummaryOut = S["ModelSummaryOut"];
export type ModelVersionOut = S["ModelVersionOut"];
export type BaseEnvironment = S["BaseEnvironment"];
export type EnvironmentBuild = S["EnvironmentBuild"];
export type BuildLog = S["BuildLog"];
export type UsageOut = S["UsageOut"];
export type ReplicaUsageOut = S["ReplicaUsageOut"];
export type UsageEventOut = S["UsageEventOut"];
export type LogsOut = S["LogsOut"];
export type ProjectOut = S["ProjectOut"];
export type FieldProblem = { field: string; value?: unknown; message: string };
