/** A tiny JSON client for the API under test: `call(method, path, body?)` → { status, json, text }. */
export interface HttpResult {
  status: number;
  json: any;
  text: string;
  headers: Headers;
}

export function apiClient(baseUrl: () => string, key: string) {
  return async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
    const res = await fetch(`${baseUrl()}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body !== undefined ? (typeof body === 'string' ? body : JSON.stringify(body)) : undefined,
    });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  };
}
