-- Typst reads `-?` in text as a soft hyphen, and pandoc's Typst writer escapes `--` and `~` but not `-?`, so
-- "item-?id=7" printed as "itemid=7": the ? after a hyphen is written escaped (`-\?`), which prints as typed.
function Str(el)
  local text, out, start = el.text, {}, 1
  while true do
    local at = text:find("-?", start, true)
    if not at then break end
    out[#out + 1] = pandoc.Str(text:sub(start, at))
    out[#out + 1] = pandoc.RawInline("typst", "\\?")
    start = at + 2
  end
  if #out == 0 then return nil end
  if start <= #text then out[#out + 1] = pandoc.Str(text:sub(start)) end
  return out
end
