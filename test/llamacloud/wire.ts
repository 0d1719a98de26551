import { request } from "undici";

/** One raw HTTP exchange with the emulator, bypassing the client: what is on the wire, verbatim. */
export interface WireResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

export async function wire(
  baseUrl: string,
  method: string,
  path: string,
  options: { key?: string; authorization?: string; body?: unknown; rawBody?: string } = {},
): Promise<WireResponse> {
  const headers: Record<string, string> = {};
  if (options.authorization !== undefined) headers["authorization"] = options.authorization;
  else if (options.key !== undefined) headers["authorization"] = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await request(`${baseUrl}${path}`, { method: method as "GET", headers, body });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers, text, json };
}
