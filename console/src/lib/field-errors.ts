/**
 * An API problem's `errors[]` shown where they belong: each message beside the form field
 * whose API member it names (`StreamName`, `DatasetConfiguration.DatasetName` …); messages
 * for members the form does not show, and the problem's `detail` when it names no field,
 * go to the form's general alert.
 */
import { ApiError } from './api';

export interface FieldErrors<F extends string> {
  byField: Partial<Record<F, string[]>>;
  general: string[];
}

export const noErrors: FieldErrors<never> = { byField: {}, general: [] };

/**
 * `fields` maps API member names to form fields. A member deeper than the map knows
 * (`Scaling.MinShardCount` when only `Scaling` is mapped) goes to its nearest mapped parent;
 * an array index (`Schema[2].Type`, `Schema.2.Type`) is treated as its array.
 */
export function mapFieldErrors<F extends string>(error: unknown, fields: Record<string, F>): FieldErrors<F> {
  if (!(error instanceof ApiError)) {
    return { byField: {}, general: [error instanceof Error ? error.message : String(error)] };
  }
  const byField: Partial<Record<F, string[]>> = {};
  const general: string[] = [];
  const listed = Array.isArray(error.problem.errors) ? error.problem.errors : [];
  for (const { Field, Message } of listed) {
    const field = fieldFor(Field, fields);
    if (field) (byField[field] ??= []).push(Message);
    else general.push(Field ? `${Field}: ${Message}` : Message);
  }
  if (listed.length === 0) general.push(error.message);
  return { byField, general };
}

function fieldFor<F extends string>(member: string | undefined, fields: Record<string, F>): F | undefined {
  if (!member) return undefined;
  let path = member.replace(/\[\d+\]/g, '').replace(/\.\d+(?=\.|$)/g, '');
  for (;;) {
    if (path in fields) return fields[path];
    const dot = path.lastIndexOf('.');
    if (dot < 0) return undefined;
    path = path.slice(0, dot);
  }
}

export function hasErrors(errors: FieldErrors<string>): boolean {
  return errors.general.length > 0 || Object.keys(errors.byField).length > 0;
}
