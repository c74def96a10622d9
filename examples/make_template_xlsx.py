"""Write examples/template.xlsx from examples/template.toml, so the two never drift apart.

Run from anywhere: ``python examples/make_template_xlsx.py``. The TOML is loaded
through the same checks as an upload (a broken example fails here, loudly), then
written by ``services.templates.dump_xlsx``, which pins every timestamp: the same
TOML always gives byte-identical bytes and regenerating leaves no diff.
"""

from __future__ import annotations

from pathlib import Path

from services.templates import dump_xlsx, load_template

HERE = Path(__file__).resolve().parent


def main(src: Path = HERE / "template.toml", dst: Path = HERE / "template.xlsx") -> None:
    template = load_template(src.read_bytes(), src.name)
    dst.write_bytes(dump_xlsx(template))
    count = len(template.indicators) + sum(len(s) for s in template.unit_overrides.values())
    print(f"wrote {dst} ({count} indicator rows)")


if __name__ == "__main__":
    main()
