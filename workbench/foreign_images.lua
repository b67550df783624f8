-- The writeup's Markdown shows images only from its files/ folder (own images are copied there first, see
-- writeup.own_images). Any other image, in a form own_images does not rewrite (e.g. a reference-style
-- ![alt][ref]), would make Typst fail the whole build: it becomes a visible note and a warning instead.
function Image(el)
  if el.src:match("^files/") then
    return nil
  end
  io.stderr:write("[WARNING] image " .. el.src .. " not shown: write it as ![caption](path) with a path "
    .. "relative to the solution file\n")
  return pandoc.Emph({pandoc.Str("(image " .. el.src .. " not shown: not a local image file)")})
end
