/**
 * Reading settings from the environment (and Pulumi config): an unset variable and a blank one
 * mean the same, "not configured" (`AWS_REGION=` in a shell or a CI matrix), so the next source or
 * the default applies. One rule for the store, the provider, the rotator and the Lambda function.
 */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}
