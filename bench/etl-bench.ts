export async function benchEtl(_args: Record<string, unknown>): Promise<void> {
  console.log('not measured yet');
}
