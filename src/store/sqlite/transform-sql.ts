/** The SQLite statements of endpoint transforms (sqlite/transforms.ts), spread into sql.ts's SQL. */
export const TRANSFORM_SQL = {
  saveTransformed: `UPDATE deliveries SET transformed = @transformed WHERE id = @id`,
  transformedOf: `SELECT transformed FROM deliveries WHERE id = @id`,
};
