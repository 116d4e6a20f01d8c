# cmake -DIN=page.html -DOUT=page.c -DSYMBOL=pt_serve_page_html -P embed.cmake: a text file as
# one C string (hex bytes, so no character of the file needs escaping), NUL-terminated.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}" "/* Generated from ${IN} by embed.cmake: do not edit. */\n#include \"page.h\"\n\nconst char ${SYMBOL}[] = {\n${bytes}0x00};\n")
