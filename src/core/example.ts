/**
 * A plausible payload for an event type that has a JSON Schema but no examples, for "Send
 * test event": the schema's own `examples`/`default`/`const`/`enum` where it gives them, else
 * a placeholder of the declared type. Only the keywords people actually write in event schemas
 * are followed (properties, required, items, type, $ref to #/$defs); depth is capped because a
 * schema may be recursive.
 */
type Schema = Record<string, any>;

export function exampleFromSchema(root: Schema): unknown {
  const walk = (s: Schema | undefined, depth: number): unknown => {
    if (!s || typeof s !== 'object' || depth > 8) return null;
    if (typeof s.$ref === 'string' && s.$ref.startsWith('#/')) {
      const target = s.$ref.slice(2).split('/').reduce((o: any, k: string) => o?.[k], root);
      return walk(target, depth + 1);
    }
    if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0];
    if ('default' in s) return s.default;
    if ('const' in s) return s.const;
    if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
    for (const k of ['oneOf', 'anyOf', 'allOf'] as const) if (Array.isArray(s[k]) && s[k].length > 0) return walk(s[k][0], depth + 1);
    const type = Array.isArray(s.type) ? s.type.find((t: string) => t !== 'null') : s.type ?? (s.properties ? 'object' : undefined);
    switch (type) {
      case 'object': {
        const out: Record<string, unknown> = {};
        for (const [name, sub] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) out[name] = walk(sub, depth + 1);
        return out;
      }
      case 'array': return s.items ? [walk(s.items, depth + 1)] : [];
      case 'string': return stringFor(s);
      case 'integer': return typeof s.minimum === 'number' ? Math.ceil(s.minimum) : 1;
      case 'number': return typeof s.minimum === 'number' ? s.minimum : 1.5;
      case 'boolean': return true;
      case 'null': return null;
      default: return null;
    }
  };
  const out = walk(root, 0);
  return out && typeof out === 'object' && !Array.isArray(out) ? out : {};
}

function stringFor(s: Schema): string {
  switch (s.format) {
    case 'date-time': return '2025-01-31T12:00:00Z';
    case 'date': return '2025-01-31';
    case 'email': return 'jane@example.com';
    case 'uri': case 'url': return 'https://example.com/';
    case 'uuid': return '00000000-0000-4000-8000-000000000000';
    default: {
      const length = Math.min(Math.max(7, s.minLength ?? 0), s.maxLength ?? 64);
      return 'example'.padEnd(length, 'x').slice(0, length);
    }
  }
}
