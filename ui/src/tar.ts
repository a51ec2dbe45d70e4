// A folder picked in the browser, packed as a gzip tar (what the registry's upload expects).
// ustar headers; names up to 100 bytes, or 255 with the prefix field.
export interface TarFile {
  path: string;
  data: Uint8Array;
}

const BLOCK = 512;
const text = new TextEncoder();

function writeString(header: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = text.encode(value);
  if (bytes.length > length) throw new Error(`tar: ${value} is longer than ${length} bytes`);
  header.set(bytes, offset);
}

function writeOctal(header: Uint8Array, offset: number, length: number, value: number): void {
  writeString(header, offset, length, value.toString(8).padStart(length - 1, "0") + "\0");
}

export function splitName(path: string): [string, string] {
  const bytes = text.encode(path).length;
  if (bytes <= 100) return ["", path];
  const cut = path.lastIndexOf("/", path.length - 1);
  const prefix = path.slice(0, cut);
  const name = path.slice(cut + 1);
  if (cut <= 0 || text.encode(prefix).length > 155 || text.encode(name).length > 100) {
    throw new Error(`tar: the path ${path} is too long`);
  }
  return [prefix, name];
}

export function header(path: string, size: number, mtime: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const [prefix, name] = splitName(path);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, 0o644);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, mtime);
  h.fill(0x20, 148, 156); // checksum field counts as spaces
  h[156] = 0x30; // regular file
  writeString(h, 257, 6, "ustar\0");
  writeString(h, 263, 2, "00");
  writeString(h, 345, 155, prefix);
  const sum = h.reduce((a, b) => a + b, 0);
  writeString(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

/** The tar archive of `files` (unpadded paths relative to the folder), uncompressed. */
export function tar(files: TarFile[], mtime = 0): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of files) {
    parts.push(header(f.path, f.data.length, mtime), f.data);
    const pad = (BLOCK - (f.data.length % BLOCK)) % BLOCK;
    parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(BLOCK * 2));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The path inside the folder: drops the folder's own name ("iris/model.joblib" -> "model.joblib"). */
export function relativePath(webkitPath: string): string {
  const i = webkitPath.indexOf("/");
  return i < 0 ? webkitPath : webkitPath.slice(i + 1);
}

export async function gzip(data: Uint8Array): Promise<Blob> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Response(stream).blob();
}
