/** A numbered schema change; each backend keeps its own list in its dialect. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}
