import { z } from "zod";

/**
 * The environment names llamacloud-keys declares keys for (`ApiKey`'s `environment`, stack config,
 * `ProjectKeys`): a lowercase letter, then up to 31 lowercase letters, digits or dashes, e.g. `prod`.
 * They end up in secret names, key names and tags. A secret tagged by hand may carry any non-blank
 * environment tag (`readManagementTags`, `llamacloud/key-name.ts`): the rule is for what we create.
 */
export const ENVIRONMENT_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/** How a surface words a bad environment; without `notString`, zod's own type message. */
export interface EnvironmentWording {
  invalid: string;
  notString?: string;
}

/** An environment name, worded for the surface that takes it. */
export function environmentSchema(wording: EnvironmentWording) {
  const text = wording.notString === undefined ? z.string() : z.string({ error: wording.notString });
  return text.regex(ENVIRONMENT_PATTERN, { error: wording.invalid });
}
