export async function benchGenerate(_args: Record<string, unknown>): Promise<void> {
  console.log('not measured yet');
}
