/**
 * Node runs a timer of more than 2^31-1 ms after 1 ms, so longer durations are refused (config) or
 * capped (a job's static timeout). A module of its own: job code must not load convict for it.
 */
export const MAX_SECONDS = 2_147_483;
