/**
 * Form fields whose accessible name is exactly their label (the seed's attribute names),
 * with help text and the API's messages for that field linked as their description.
 */
import type { ComponentChildren, PartialInputHTMLAttributes } from 'preact';

interface FieldProps {
  id: string;
  label: string;
  help?: ComponentChildren;
  errors?: string[];
  children: (described: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => ComponentChildren;
}

export function Field({ id, label, help, errors, children }: FieldProps) {
  const described = [help ? `${id}-help` : null, errors?.length ? `${id}-error` : null].filter(Boolean).join(' ');
  return (
    <div class={`field${errors?.length ? ' has-error' : ''}`}>
      <label for={id}>{label}</label>
      {children({ id, 'aria-describedby': described || undefined, 'aria-invalid': errors?.length ? true : undefined })}
      {help && (
        <p class="help" id={`${id}-help`}>
          {help}
        </p>
      )}
      {errors?.length ? (
        <p class="field-error" id={`${id}-error`}>
          {errors.join(' ')}
        </p>
      ) : null}
    </div>
  );
}

type InputProps = Omit<PartialInputHTMLAttributes<HTMLInputElement>, 'onInput' | 'value' | 'label' | 'id' | 'type' | 'role'>;

export function TextField(props: { id: string; label: string; value: string; onValue: (value: string) => void; help?: ComponentChildren; errors?: string[] } & InputProps) {
  const { id, label, value, onValue, help, errors, ...rest } = props;
  return (
    <Field id={id} label={label} help={help} errors={errors}>
      {(a11y) => <input type="text" {...rest} {...a11y} value={value} onInput={(e) => onValue(e.currentTarget.value)} />}
    </Field>
  );
}

export function NumberField(props: { id: string; label: string; value: string; onValue: (value: string) => void; help?: ComponentChildren; errors?: string[]; unit?: string } & InputProps) {
  const { id, label, value, onValue, help, errors, unit, ...rest } = props;
  return (
    <Field id={id} label={label} help={help} errors={errors}>
      {(a11y) => (
        <span class="with-unit">
          <input type="number" inputMode="numeric" {...rest} {...a11y} value={value} onInput={(e) => onValue(e.currentTarget.value)} />
          {unit && <span class="unit" aria-hidden="true">{unit}</span>}
        </span>
      )}
    </Field>
  );
}

export function SelectField<T extends string>(props: {
  id: string;
  label: string;
  value: T;
  options: readonly { value: T; label: string }[];
  onValue: (value: T) => void;
  help?: ComponentChildren;
  errors?: string[];
  disabled?: boolean;
}) {
  const { id, label, value, options, onValue, help, errors, disabled } = props;
  return (
    <Field id={id} label={label} help={help} errors={errors}>
      {(a11y) => (
        <select {...a11y} value={value} disabled={disabled} onChange={(e) => onValue(e.currentTarget.value as T)}>
          {options.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function CheckboxField(props: { id: string; label: string; checked: boolean; onValue: (checked: boolean) => void; help?: ComponentChildren; errors?: string[] }) {
  const { id, label, checked, onValue, help, errors } = props;
  const described = [help ? `${id}-help` : null, errors?.length ? `${id}-error` : null].filter(Boolean).join(' ');
  return (
    <div class={`field checkbox${errors?.length ? ' has-error' : ''}`}>
      <input type="checkbox" id={id} checked={checked} aria-describedby={described || undefined} onChange={(e) => onValue(e.currentTarget.checked)} />
      <label for={id}>{label}</label>
      {help && (
        <p class="help" id={`${id}-help`}>
          {help}
        </p>
      )}
      {errors?.length ? (
        <p class="field-error" id={`${id}-error`}>
          {errors.join(' ')}
        </p>
      ) : null}
    </div>
  );
}
