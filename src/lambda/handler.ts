export async function handler(_e: unknown): Promise<void> {}
