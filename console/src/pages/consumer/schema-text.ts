/** A dataset schema typed as lines of "name type" (Glue types), and back. */
export interface Column {
  Name: string;
  Type: string;
}

export function parseSchema(text: string): Column[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [name, ...type] = line.split(/[\s:]+/);
      return { Name: name, Type: type.join(' ') || 'string' };
    });
}

export function schemaText(columns: Column[]): string {
  return columns.map((c) => `${c.Name} ${c.Type}`).join('\n');
}
