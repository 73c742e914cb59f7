import type { z } from 'zod';
import { describeValue, didYouMean } from './hints.js';

/**
 * The schema's complaints in the scenario author's words: an error map for zod (what each kind of
 * issue says) and the reduction of zod's issues to problems at a path, choosing the alternative of
 * a union that the value was evidently meant to be.
 *
 * @example
 * ```ts
 * const result = scenarioFileSchema.safeParse(data, { error: scenarioErrorMap });
 * if (!result.success) schemaProblems(result.error.issues); // [{ path: ['domains', 0, 'vcpus'], message: 'expected a number, got "two"' }]
 * ```
 */

/** One thing wrong with the file: where (with `key`, an unknown key inside the mapping at `path`) and what. */
export interface SchemaProblem {
  path: Array<string | number>;
  key?: string;
  message: string;
}

const NOUN: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
};

/**
 * Messages for zod issues that the schema does not word itself.
 *
 * @example
 * ```ts
 * scenarioFileSchema.safeParse(data, { error: scenarioErrorMap });
 * ```
 */
export const scenarioErrorMap: z.core.$ZodErrorMap = (issue) => {
  const got = describeValue(issue.input);
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${NOUN[issue.expected] ?? issue.expected}, got ${got}`;
    case 'too_small':
      if (issue.origin === 'string') return 'must not be empty';
      if (issue.origin === 'array') return `needs at least ${issue.minimum} ${Number(issue.minimum) === 1 ? 'entry' : 'entries'}`;
      return issue.inclusive === false ? `${got} must be more than ${issue.minimum}` : `${got} is below the minimum ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `is longer than ${issue.maximum} characters`;
      if (issue.origin === 'array') return `has more than ${issue.maximum} entries`;
      return `${got} is above the maximum ${issue.maximum}`;
    case 'invalid_value': {
      const values = issue.values.map(String);
      const guess = typeof issue.input === 'string' ? didYouMean(issue.input, values) : undefined;
      return `${got} is not one of ${values.join(', ')}${guess ? `; did you mean "${guess}"?` : ''}`;
    }
    case 'invalid_union':
      return `${got} does not match any accepted form`;
    case 'unrecognized_keys':
      return 'unknown field';
    default:
      return undefined;
  }
};

/**
 * The problems behind zod's issues, in zod's order. A union whose alternatives all failed is
 * explained by the alternative of the value's own kind (a mapping for `{ min, max }`, a string for a
 * size), or by the union's own message when the value is of no kind it accepts.
 *
 * @example
 * ```ts
 * schemaProblems(result.error.issues)[0].message; // 'unknown field; did you mean "memory"?'
 * ```
 */
export function schemaProblems(issues: readonly z.core.$ZodIssue[], prefix: Array<string | number> = []): SchemaProblem[] {
  return issues.flatMap((issue): SchemaProblem[] => {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
    if (issue.code === 'unrecognized_keys') return [{ path, key: issue.keys[0], message: issue.message }];
    if (issue.code === 'invalid_union') {
      const meant = issue.errors.find((branch) => !isKindMismatch(branch));
      if (meant) return schemaProblems(meant, path);
    }
    return [{ path, message: issue.message }];
  });
}

/** True when an alternative failed only because the value is of another kind altogether. */
function isKindMismatch(branch: readonly z.core.$ZodIssue[]): boolean {
  return branch.every(
    (issue) =>
      issue.path.length === 0 &&
      (issue.code === 'invalid_type' || (issue.code === 'invalid_union' && issue.errors.every(isKindMismatch))),
  );
}
