import { inflateSync } from 'node:zlib';
import { PDFArray, PDFDocument, PDFName, PDFRawStream, type PDFPage } from 'pdf-lib';

/** WinAnsiEncoding 0x80–0x9F (the rest of it is Latin-1), which the standard fonts use. */
const WIN_ANSI_80 = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';
const winAnsi = (bytes: Buffer): string => [...bytes].map((b) => (b >= 0x80 && b <= 0x9f ? WIN_ANSI_80[b - 0x80] : String.fromCharCode(b))).join('');

/** The text a page shows: the strings of its content streams' text operators (pdfkit writes them hex-encoded in TJ arrays). */
function pageText(page: PDFPage): string {
  const contents = page.node.lookup(PDFName.of('Contents'));
  const streams = contents instanceof PDFArray ? contents.asArray().map((ref) => page.doc.context.lookup(ref)) : [contents];
  let text = '';
  for (const stream of streams) {
    if (!(stream instanceof PDFRawStream)) throw new Error('unexpected content stream type');
    const filter = stream.dict.lookup(PDFName.of('Filter'));
    const bytes = filter === PDFName.of('FlateDecode') ? inflateSync(stream.contents) : Buffer.from(stream.contents);
    for (const op of bytes.toString('latin1').matchAll(/\[([^\]]*)\]\s*TJ/g)) {
      text += [...op[1].matchAll(/<([0-9a-fA-F]*)>/g)].map((h) => winAnsi(Buffer.from(h[1], 'hex'))).join('') + '\n';
    }
  }
  return text;
}

/** Parses a PDF back (pdf-lib) and returns its page count, title and text. For tests. */
export async function pdfText(pdf: Buffer): Promise<{ pages: number; text: string; title: string | undefined }> {
  const doc = await PDFDocument.load(pdf);
  return { pages: doc.getPageCount(), text: doc.getPages().map(pageText).join('\n'), title: doc.getTitle() };
}
