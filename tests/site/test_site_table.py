"""The components table at more than a page of rows, in headless Chromium: a distribution of 1,234
local-spec components (nothing built), whose table shows 500 rows at a time while filtering and sorting
all of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from site_kit import open_page

from tributary.config import load_project
from tributary.site import write_site

COUNT = 1234
SPEC = """\
Name:           {name}
Version:        {version}
Release:        1%{{?dist}}
Summary:        Component {name}
License:        MIT

%description
Component {name}.

%files

%changelog
* Thu Jan 01 2026 Dev <dev@example.invalid> - {version}-1
- First
"""


@pytest.fixture(scope="module")
def big_site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("big-distro")
    (root / "azldev.toml").write_text(
        '[project]\ndescription = "Big Linux"\n\n'
        '[component-groups.local-specs]\ndescription = "every spec below comps/"\nspecs = ["comps/**/*.spec"]\n')
    for number in range(COUNT):
        name = f"pkg{number:04d}"
        directory = root / "comps" / name
        directory.mkdir(parents=True)
        (directory / f"{name}.spec").write_text(SPEC.format(name=name, version=f"1.{number % 7}"))
    project = load_project(root)
    assert len(project.component_names) == COUNT
    site = tmp_path_factory.mktemp("big-site") / "site"
    write_site(project, site)
    return site


def test_the_table_pages_its_rows_and_filters_and_sorts_them_all(big_site: Path, chromium) -> None:
    context = chromium.new_context()
    try:
        opened = open_page(context, big_site / "components.html")
        page = opened.page
        rows = page.locator("#rows tr")
        assert rows.count() == 500
        assert page.locator("#count").inner_text() == f"Showing 500 of {COUNT} components."
        page.locator("#more").click()
        assert rows.count() == 1000
        assert page.locator("#every").is_hidden()  # 234 left: "Show 234 more" says it all
        assert page.locator("#more").inner_text() == "Show 234 more"
        page.locator("#more").click()
        assert rows.count() == COUNT and page.locator("#more").is_hidden()
        # A filter starts from the first page again, over every row.
        page.locator("#filter").fill("pkg1")
        assert page.locator("#count").inner_text() == f"Showing 234 of 234 matching components ({COUNT} in all)."
        page.locator("#filter").fill("pkg0")
        assert rows.count() == 500 and page.locator("#more").inner_text() == "Show 500 more"
        assert page.locator("#every").is_hidden()
        page.locator("#filter").fill("pkg")
        assert rows.count() == 500 and page.locator("#every").inner_text() == f"Show all {COUNT}"
        page.locator("#every").click()
        assert rows.count() == COUNT
        # Sorting orders every row, not only those shown: descending by name puts the last one first.
        page.locator("#filter").fill("")
        header = page.locator("th:has-text('Component') button")
        header.click()
        header.click()
        assert rows.first.locator("td a").inner_text() == f"pkg{COUNT - 1:04d}"
        assert rows.count() == 500
        assert opened.problems == []
        # The filter can come with the address (components.html#q=...), as the home page's links use it.
        linked = context.new_page()
        linked.goto((big_site / "components.html").as_uri() + "#q=pkg123")
        assert linked.locator("#rows tr td:first-child a").all_inner_texts() == [
            "pkg1230", "pkg1231", "pkg1232", "pkg1233"]
    finally:
        context.close()
