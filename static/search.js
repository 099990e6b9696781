// Runs the Pagefind index written by `sitegen build` in pagefind/ beside this site.
// Every address is worked out from this file's own URL, so search works at a domain
// root and under a sub-path such as /repo/.
const siteRoot = new URL("../", import.meta.url);
const form = document.querySelector(".search-form");
const input = document.getElementById("search-q");
const status = document.getElementById("search-status");
const list = document.getElementById("search-results");

// The index comes in shards (pagefind/shards.json lists them): the first one's program
// searches them all. The list is asked for afresh, since a new build replaces shards.
let pagefind;
async function engine() {
  if (!pagefind) {
    const listed = await fetch(new URL("pagefind/shards.json", siteRoot), { cache: "no-cache" });
    if (!listed.ok) throw new Error(`pagefind/shards.json: ${listed.status}`);
    const { shards } = await listed.json();
    const bundle = (shard) => new URL(`pagefind/${shard}/`, siteRoot);
    const engine = await import(new URL("pagefind.js", bundle(shards[0])).href);
    await engine.options({ baseUrl: siteRoot.pathname });
    await Promise.all(shards.slice(1).map(
      (shard) => engine.mergeIndex(bundle(shard).pathname, { baseUrl: siteRoot.pathname })));
    pagefind = engine;
  }
  return pagefind;
}

function item(result) {
  const li = document.createElement("li");
  li.className = "story-card";
  const heading = document.createElement("h2");
  const link = document.createElement("a");
  // The record's own address is its file in the indexing folder: the story's is in its meta
  link.href = result.meta.story ? new URL(result.meta.story, siteRoot).href : result.url;
  link.textContent = result.meta.title || link.href;
  heading.append(link);
  const excerpt = document.createElement("p");
  excerpt.innerHTML = result.excerpt; // Pagefind's own escaped text with <mark> around hits
  li.append(heading, excerpt);
  return li;
}

async function run(query) {
  list.replaceChildren();
  if (!query.trim()) {
    status.textContent = "";
    return;
  }
  status.textContent = "Searching…";
  try {
    const found = await (await engine()).search(query);
    const results = await Promise.all(found.results.slice(0, 30).map((r) => r.data()));
    list.replaceChildren(...results.map(item));
    status.textContent = results.length
      ? `${found.results.length} result${found.results.length === 1 ? "" : "s"} for “${query}”`
      : `Nothing found for “${query}”.`;
  } catch (error) {
    status.textContent = "Search is not available on this copy of the site.";
  }
}

const query = new URLSearchParams(location.search).get("q") || "";
input.value = query;
run(query);
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const url = new URL(location.href);
  url.searchParams.set("q", input.value);
  history.replaceState(null, "", url);
  run(input.value);
});
