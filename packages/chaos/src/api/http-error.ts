/** An error answered with Toxiproxy's error body `{"error":…,"status":…}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** `bad request body: …`, status 400, as Toxiproxy words body errors. */
export function badBody(detail: string): HttpError {
  return new HttpError(400, `bad request body: ${detail}`);
}
