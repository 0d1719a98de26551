import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";

/**
 * The LlamaCloud OpenAPI document (3.1, whose schemas are JSON Schema 2020-12) and Ajv's 2020-12
 * validator over it. Strict mode: a keyword Ajv does not know fails loudly at compile time, so a new
 * construct in the document cannot pass silently; the document's own extras are declared below.
 */

export type Schema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

export interface Operation {
  operationId: string;
  parameters?: { name: string; in: string; required?: boolean; schema: Schema }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Schema }> }>;
}

export function loadOpenApi(root: string): OpenApiDocument {
  return JSON.parse(
    readFileSync(join(root, "node_modules/@llamaindex/cloud/openapi.json"), "utf8"),
  ) as OpenApiDocument;
}

// OpenAPI refers to components by a pointer into the whole document, which is no schema; Ajv gets
// them as the `$defs` of one schema of their own, and every `$ref` is pointed there.
const componentsId = "https://llamacloud-keys.invalid/openapi-components.json";
const componentPrefix = "#/components/schemas/";

function pointRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pointRefs);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    out[key] =
      key === "$ref" && typeof child === "string" && child.startsWith(componentPrefix)
        ? `${componentsId}#/$defs/${child.slice(componentPrefix.length)}`
        : pointRefs(child);
  }
  return out;
}

/** `$.name: must NOT have more than 3000 characters`: one line per problem, with its JSON path. */
function describe(error: ErrorObject): string {
  const path = `$${error.instancePath.replaceAll("/", ".")}`;
  if (error.keyword === "required") return `${path}.${error.params["missingProperty"]}: required`;
  if (error.keyword === "additionalProperties")
    return `${path}.${error.params["additionalProperty"]}: not allowed`;
  return `${path}: ${error.message ?? error.keyword}`;
}

export class OpenApiValidator {
  private readonly ajv: Ajv2020;
  private readonly compiled = new WeakMap<Schema, ValidateFunction>();

  constructor(private readonly document: OpenApiDocument) {
    // allErrors: report every problem of a body, as the contract test's messages list them.
    this.ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(this.ajv, ["uuid", "date-time"]);
    // Annotations the document uses that 2020-12 does not define: `discriminator` (OpenAPI's own,
    // a hint beside the `oneOf` it annotates) and FastAPI's `gte`/`lte` echoes of `minimum`/`maximum`.
    this.ajv.addVocabulary(["discriminator", "gte", "lte", "example"]);
    this.ajv.addSchema({ $id: componentsId, $defs: pointRefs(document.components.schemas) as Schema });
  }

  /** Problems with `value` against `schema`, one per line with its JSON path; empty when valid. */
  validate(schema: Schema, value: unknown): string[] {
    let check = this.compiled.get(schema);
    if (check === undefined) {
      check = this.ajv.compile(pointRefs(schema) as Schema);
      this.compiled.set(schema, check);
    }
    return check(value) ? [] : (check.errors ?? []).map(describe);
  }

  /** The documented operation for a method and OpenAPI path; throws when it is not documented. */
  operation(method: string, path: string): Operation {
    const operation = this.document.paths[path]?.[method.toLowerCase()];
    if (operation === undefined) throw new Error(`${method} ${path} is not in the OpenAPI document`);
    return operation;
  }

  /** The JSON schema of a documented response, or undefined when the status has no body schema. */
  responseSchema(method: string, path: string, status: number): Schema | undefined {
    const response = this.operation(method, path).responses[String(status)];
    if (response === undefined) throw new Error(`${method} ${path} documents no ${status} response`);
    return response.content?.["application/json"]?.schema;
  }

  requestSchema(method: string, path: string): Schema {
    const schema = this.operation(method, path).requestBody?.content["application/json"]?.schema;
    if (schema === undefined) throw new Error(`${method} ${path} documents no JSON request body`);
    return schema;
  }
}
