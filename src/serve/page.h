/* The web page served at GET / (page.html, embedded at build time by embed.cmake). */
#ifndef PTRAIN_SERVE_PAGE_H
#define PTRAIN_SERVE_PAGE_H

extern const char pt_serve_page_html[];

#endif
