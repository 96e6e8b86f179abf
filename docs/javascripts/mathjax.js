// MathJax 3 for the site: pymdownx.arithmatex's \( \) and \[ \] (class "arithmatex") on every page, and the
// notebooks' $...$ and $$...$$ in their Markdown cells (nbconvert's "jp-RenderedMarkdown"); nothing else on a
// page is read as maths (a "$" in prose stays a dollar sign).
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex|jp-RenderedMarkdown",
  },
};

// Material's instant navigation swaps pages without reloading: typeset each new page.
document$.subscribe(() => {
  MathJax.startup.output.clearCache();
  MathJax.typesetClear();
  MathJax.texReset();
  MathJax.typesetPromise();
});
