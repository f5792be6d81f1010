/** Workflow time as an ISO string: Temporal's clock in workflow code, the same on every replay. */
export const now = () => new Date().toISOString();
