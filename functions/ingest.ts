// Placeholder until the real handler lands (being written in this commit series).
export const handler = async (): Promise<{ statusCode: number }> => ({ statusCode: 501 });
