import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A small JSON Schema validator for the subset the LlamaCloud OpenAPI document (3.1) uses on the
 * routes we emulate: type (incl. "null"), properties, required, items, anyOf/oneOf/allOf, $ref to
 * `#/components/schemas`, enum/const, format uuid/date-time, min/maxLength, nullable (3.0 style)
 * and additionalProperties. Unknown keywords fail loudly, so a new construct cannot pass silently.
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

// Keywords that only annotate.
const annotations = new Set([
  "title",
  "description",
  "default",
  "examples",
  "example",
  "deprecated",
  "readOnly",
  "writeOnly",
  "discriminator",
]);
const handled = new Set([
  "type",
  "properties",
  "required",
  "items",
  "anyOf",
  "oneOf",
  "allOf",
  "$ref",
  "enum",
  "const",
  "format",
  "maxLength",
  "minLength",
  "nullable",
  "additionalProperties",
  "minimum",
  "maximum",
]);

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// RFC 3339 date-time (what pydantic emits and accepts).
const dateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

export class OpenApiValidator {
  constructor(private readonly document: OpenApiDocument) {}

  /** Problems with `value` against `schema`, one per line with its JSON path; empty when valid. */
  validate(schema: Schema, value: unknown, path = "$"): string[] {
    for (const keyword of Object.keys(schema)) {
      if (!handled.has(keyword) && !annotations.has(keyword)) {
        throw new Error(`openapi-validator: unsupported keyword ${keyword} at ${path}; extend the validator`);
      }
    }
    if (typeof schema["$ref"] === "string") return this.validate(this.resolve(schema["$ref"]), value, path);
    const errors: string[] = [];
    if (schema["nullable"] === true && value === null) return errors;

    const type = schema["type"];
    if (type !== undefined) {
      const types = Array.isArray(type) ? (type as string[]) : [type as string];
      const actual = typeOf(value);
      const ok = types.some((t) => t === actual || (t === "number" && actual === "integer"));
      if (!ok) return [`${path}: expected ${types.join("|")}, got ${actual}`];
    }
    if (Array.isArray(schema["enum"]) && !(schema["enum"] as unknown[]).includes(value)) {
      errors.push(`${path}: not one of ${JSON.stringify(schema["enum"])}`);
    }
    if ("const" in schema && schema["const"] !== value)
      errors.push(`${path}: expected ${JSON.stringify(schema["const"])}`);
    if (typeof value === "string") {
      if (typeof schema["maxLength"] === "number" && [...value].length > schema["maxLength"]) {
        errors.push(`${path}: longer than ${schema["maxLength"]}`);
      }
      if (typeof schema["minLength"] === "number" && [...value].length < schema["minLength"]) {
        errors.push(`${path}: shorter than ${schema["minLength"]}`);
      }
      if (schema["format"] === "uuid" && !uuid.test(value)) errors.push(`${path}: not a uuid`);
      if (schema["format"] === "date-time" && !dateTime.test(value)) errors.push(`${path}: not a date-time`);
    }
    if (typeof value === "number") {
      if (typeof schema["minimum"] === "number" && value < schema["minimum"])
        errors.push(`${path}: below minimum`);
      if (typeof schema["maximum"] === "number" && value > schema["maximum"])
        errors.push(`${path}: above maximum`);
    }
    if (Array.isArray(value) && schema["items"] !== undefined) {
      value.forEach((item, index) => {
        errors.push(...this.validate(schema["items"] as Schema, item, `${path}[${index}]`));
      });
    }
    if (typeOf(value) === "object") {
      const object = value as Record<string, unknown>;
      const properties = (schema["properties"] ?? {}) as Record<string, Schema>;
      for (const name of (schema["required"] ?? []) as string[]) {
        if (!(name in object)) errors.push(`${path}.${name}: required`);
      }
      for (const [name, item] of Object.entries(object)) {
        const propertySchema = properties[name];
        if (propertySchema !== undefined)
          errors.push(...this.validate(propertySchema, item, `${path}.${name}`));
        else if (schema["additionalProperties"] === false) errors.push(`${path}.${name}: not allowed`);
        else if (typeof schema["additionalProperties"] === "object") {
          errors.push(...this.validate(schema["additionalProperties"] as Schema, item, `${path}.${name}`));
        }
      }
    }
    if (Array.isArray(schema["allOf"])) {
      for (const part of schema["allOf"] as Schema[]) errors.push(...this.validate(part, value, path));
    }
    if (Array.isArray(schema["anyOf"])) {
      const results = (schema["anyOf"] as Schema[]).map((part) => this.validate(part, value, path));
      if (!results.some((r) => r.length === 0))
        errors.push(`${path}: matches no anyOf branch (${results.flat().join("; ")})`);
    }
    if (Array.isArray(schema["oneOf"])) {
      const passing = (schema["oneOf"] as Schema[]).filter(
        (part) => this.validate(part, value, path).length === 0,
      );
      if (passing.length !== 1) errors.push(`${path}: matches ${passing.length} oneOf branches, expected 1`);
    }
    return errors;
  }

  private resolve(ref: string): Schema {
    const prefix = "#/components/schemas/";
    if (!ref.startsWith(prefix)) throw new Error(`openapi-validator: unsupported $ref ${ref}`);
    const schema = this.document.components.schemas[ref.slice(prefix.length)];
    if (schema === undefined) throw new Error(`openapi-validator: unknown $ref ${ref}`);
    return schema;
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
