"""Page previews for the app: PNG bytes of a few pages, rendered with pypdfium2 (no poppler needed)."""

from __future__ import annotations

import io
from pathlib import Path

from desktop.services.errors import ServiceError


def page_count(pdf: Path | str) -> int:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        return len(doc)
    finally:
        doc.close()


def render_pages(pdf: Path | str, first: int = 0, count: int = 3, dpi: int = 80) -> list[bytes]:
    """PNG images of pages first … first+count-1 (fewer at the end of the document)."""
    import pypdfium2 as pdfium

    path = Path(pdf)
    if not path.is_file():
        raise ServiceError(f"找不到要预览的文件:{path}")
    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise ServiceError(f"无法打开 PDF 文件 {path.name}:{exc}") from exc
    out: list[bytes] = []
    try:
        for i in range(max(0, first), min(len(doc), max(0, first) + max(0, count))):
            page = doc[i]
            try:
                bitmap = page.render(scale=dpi / 72)
                try:
                    image = bitmap.to_pil()
                    buf = io.BytesIO()
                    image.save(buf, format="PNG")
                    out.append(buf.getvalue())
                finally:
                    bitmap.close()
            finally:
                page.close()
    finally:
        doc.close()
    return out
