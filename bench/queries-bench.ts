export async function benchQueries(_args: Record<string, unknown>): Promise<void> {
  console.log('not measured yet');
}
