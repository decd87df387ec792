// An error the emulated API returns to its caller, in AWS's own codes.
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (code: string, what: string, id: string) =>
  new ApiError(code, `The ${what} ID '${id}' does not exist`);

export const invalidParameter = (message: string) => new ApiError('InvalidParameterValue', message);

export const missingParameter = (name: string) =>
  new ApiError('MissingParameter', `The request must contain the parameter ${name}`);
