/** The PostgreSQL statements of endpoint transforms (postgres/transforms.ts), spread into sql.ts's TEXT. */
export const TRANSFORM_TEXT = {
  // A batch is one statement: the outputs travel as two parallel arrays.
  saveTransformed: `UPDATE deliveries d SET transformed = v.transformed
                    FROM unnest(:ids::text[], :values::text[]) AS v(id, transformed) WHERE d.id = v.id`,
  transformedOf: `SELECT transformed FROM deliveries WHERE id = :id`,
};
