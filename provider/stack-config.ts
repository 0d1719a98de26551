import { z } from "zod";
import { KEY_PREFIX_PATTERN } from "../llamacloud/key-name";
import { environmentSchema } from "../secrets/environment";
import { rotationPolicySchema } from "../secrets/rotation-policy";
import { DEFAULT_SECRET_PREFIX } from "./args";
import { ProviderError } from "./errors";

/**
 * The root program's stack config (`Pulumi.<stack>.yaml`, namespace `llamacloud-keys`), validated
 * before any resource is declared: each error names the config key and what it expects.
 */

const NAMESPACE = "llamacloud-keys";

const projectSchema = z
  .object({
    name: z.string().min(1, { error: "must be a non-empty project name" }).optional(),
    id: z.guid({ error: "must be a LlamaCloud project id (a UUID)" }).optional(),
    organizationId: z.guid({ error: "must be a LlamaCloud organization id (a UUID)" }).optional(),
    environments: z
      .array(
        environmentSchema({
          invalid:
            "must be a short lowercase label (a letter, then up to 31 letters, digits or dashes), e.g. prod",
        }),
        { error: 'must be a list of environment labels, e.g. ["staging", "prod"]' },
      )
      .min(1, { error: "must list at least one environment" }),
  })
  .strict()
  .refine((p) => (p.name === undefined) !== (p.id === undefined), {
    error: "must have exactly one of name and id",
  });

const schemas = {
  projects: z
    .array(projectSchema, { error: "must be a list of { name | id, organizationId?, environments }" })
    .min(1, { error: "must list at least one project" }),
  rotation: rotationPolicySchema().optional(),
  secretPrefix: z
    .string()
    .regex(/^[A-Za-z0-9/_+=.@-]{1,200}$/, { error: "must be letters, digits and /_+=.@-, e.g. llamacloud" })
    .optional(),
  useProjectKeys: z.boolean({ error: "must be true or false" }).optional(),
  recoveryWindowInDays: z
    .number({ error: "must be a number of days" })
    .int({ error: "must be a whole number of days" })
    .refine((d) => d === 0 || (d >= 7 && d <= 30), { error: "must be 0 (no recovery) or 7 to 30" })
    .optional(),
  keyPrefix: z
    .string()
    .regex(KEY_PREFIX_PATTERN, {
      error: "must be 1-100 letters, digits, dots, underscores or dashes (no slashes)",
    })
    .optional(),
};

export interface StackConfig {
  projects: { name?: string; id?: string; organizationId?: string; environments: string[] }[];
  rotation?: { every: string; grace: string };
  secretPrefix: string;
  useProjectKeys: boolean;
  recoveryWindowInDays?: number;
  keyPrefix?: string;
}

/**
 * Reads and validates the stack config. `get` returns a key's raw value (`pulumi.Config#get`):
 * structured values arrive as JSON text. Throws `PROVIDER_INVALID_CONFIG` listing every problem.
 */
export function parseStackConfig(get: (key: string) => string | undefined): StackConfig {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(schemas)) {
    const raw = get(key);
    let value: unknown = raw;
    if (raw !== undefined && key !== "secretPrefix" && key !== "keyPrefix") {
      // Structured and boolean/number values arrive as JSON text; anything else is judged as text.
      try {
        value = JSON.parse(raw);
      } catch {
        value = raw;
      }
    }
    if (key === "projects" && raw === undefined) {
      problems.push(
        `${NAMESPACE}:projects is not set: list the projects and their environments, e.g. ` +
          "`pulumi config set --path 'llamacloud-keys:projects[0].name' search` and " +
          "`pulumi config set --path 'llamacloud-keys:projects[0].environments[0]' prod`",
      );
      continue;
    }
    const result = (schema as z.ZodType).safeParse(value);
    // The rotation is passed on as written (the schema's milliseconds would change the resources'
    // recorded inputs, and so their next diff).
    if (result.success) values[key] = key === "rotation" ? value : result.data;
    else {
      for (const issue of result.error.issues) {
        const path = issue.path
          .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
          .join("");
        problems.push(`${NAMESPACE}:${key}${path} ${issue.message}`);
      }
    }
  }
  if (problems.length > 0) {
    throw new ProviderError("PROVIDER_INVALID_CONFIG", `Invalid stack config:\n  ${problems.join("\n  ")}`, {
      issues: problems,
    });
  }
  const config: StackConfig = {
    projects: values["projects"] as StackConfig["projects"],
    secretPrefix: (values["secretPrefix"] as string | undefined) ?? DEFAULT_SECRET_PREFIX,
    useProjectKeys: (values["useProjectKeys"] as boolean | undefined) ?? false,
  };
  if (values["rotation"] !== undefined)
    config.rotation = values["rotation"] as { every: string; grace: string };
  if (values["recoveryWindowInDays"] !== undefined)
    config.recoveryWindowInDays = values["recoveryWindowInDays"] as number;
  if (values["keyPrefix"] !== undefined) config.keyPrefix = values["keyPrefix"] as string;
  return config;
}
