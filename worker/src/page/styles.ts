// The page's stylesheet (inlined under the CSP nonce): calm neutrals, one colour per state family, phone first.

export const STYLES = `
:root{--bg:#f5f6f8;--card:#fff;--text:#1c2230;--muted:#5d6677;--line:#e2e5ea;--soft:#f0f2f5;
--green:#1b7f46;--green-bg:#e5f4ec;--blue:#2459b8;--blue-bg:#e6eefb;--amber:#9a5b00;--amber-bg:#fdf1dc;
--red:#b42323;--red-bg:#fbe7e7;--grey:#5f6673;--grey-bg:#eceef1;--accent:#2459b8;--on-accent:#fff;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#12151b;--card:#1a1e26;--text:#e4e7ec;--muted:#9aa3b2;
--line:#2b313c;--soft:#222833;--green:#4cc283;--green-bg:#16301f;--blue:#7aa7f5;--blue-bg:#18243b;
--amber:#f0b44c;--amber-bg:#33270f;--red:#f07474;--red-bg:#3a1a1c;--grey:#a3aab6;--grey-bg:#262b34;--accent:#7aa7f5;--on-accent:#0f1420}}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;background:var(--bg);color:var(--text);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;-webkit-text-size-adjust:100%}
.wrap{max-width:1080px;margin:0 auto;padding:16px}
header.top{display:flex;flex-wrap:wrap;gap:12px;align-items:center;justify-content:space-between;margin:8px 0 16px}
h1{font-size:20px;margin:0;font-weight:650;letter-spacing:-.01em}
h1 small{font-weight:400;color:var(--muted);font-size:14px;margin-left:6px}
h2{font-size:18px;margin:0;font-weight:650}
h3{font-size:13px;margin:18px 0 8px;color:var(--muted);text-transform:uppercase;letter-spacing:.06em;font-weight:600}
.muted{color:var(--muted)}
.small{font-size:13px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
form.token{display:flex;gap:6px;align-items:center;flex-wrap:wrap}
input[type=password]{font:inherit;padding:6px 10px;border:1px solid var(--line);border-radius:8px;background:var(--card);color:var(--text);min-width:0;width:14em}
button{font:inherit;font-size:14px;padding:6px 12px;border-radius:8px;border:1px solid var(--line);background:var(--card);color:var(--text);cursor:pointer}
button:hover{border-color:var(--accent)}
button:disabled{opacity:.5;cursor:default}
button.danger{color:var(--red)}
button.primary{background:var(--accent);border-color:var(--accent);color:var(--on-accent)}
.banner{border-radius:10px;padding:10px 14px;margin:0 0 14px;border:1px solid var(--line);background:var(--card)}
.banner.error,#message[data-tone=error]{border-color:var(--red);background:var(--red-bg);color:var(--red)}
.banner.warn{border-color:var(--amber);background:var(--amber-bg);color:var(--amber)}
#message{border-radius:10px;padding:10px 14px;margin:0 0 14px;border:1px solid var(--line);background:var(--card)}
#message[data-tone=ok]{border-color:var(--green);background:var(--green-bg);color:var(--green)}
.pair{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--tone);border-radius:12px;padding:16px 18px;margin:0 0 18px}
.tone-green{--tone:var(--green);--tone-bg:var(--green-bg)}
.tone-blue{--tone:var(--blue);--tone-bg:var(--blue-bg)}
.tone-amber{--tone:var(--amber);--tone-bg:var(--amber-bg)}
.tone-red{--tone:var(--red);--tone-bg:var(--red-bg)}
.tone-grey{--tone:var(--grey);--tone-bg:var(--grey-bg)}
.pair-head{display:flex;flex-wrap:wrap;gap:10px;align-items:center}
.badge{display:inline-block;padding:2px 10px;border-radius:999px;font-size:13px;font-weight:600;background:var(--tone-bg);color:var(--tone)}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:10px 16px;margin:14px 0 6px}
.facts div{min-width:0}
.facts dt{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
.facts dd{margin:0;font-size:16px;font-weight:550;overflow-wrap:anywhere}
.reason{margin:8px 0 0;overflow-wrap:anywhere}
.controls{display:flex;flex-wrap:wrap;gap:8px;margin-top:14px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(230px,1fr));gap:10px}
.card{background:var(--soft);border-radius:10px;padding:10px 12px;min-width:0;overflow-wrap:anywhere}
.card b{display:block;font-size:13px;color:var(--muted);font-weight:600;margin-bottom:2px}
.ok{color:var(--green)}.bad{color:var(--red)}.warn{color:var(--amber)}
/* On a narrow screen the chart keeps a readable size and scrolls; rtl starts it scrolled to "now". */
.chart{overflow-x:auto;direction:rtl;border-radius:10px}
.timeline{width:100%;min-width:520px;height:auto;display:block;direction:ltr;background:var(--soft);border-radius:10px}
.tl-grid{stroke:var(--line);stroke-width:1}
.tl-axis{fill:var(--muted);font-size:12px;font-family:system-ui,sans-serif}
.tl-empty{fill:var(--muted);font-size:14px;font-family:system-ui,sans-serif}
.tl-line{fill:none;stroke:var(--accent);stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}
.tl-fail{fill:var(--red);opacity:.35}
.tl-fail:hover{opacity:.7}
.tl-state{fill:var(--grey)}
.st-primary-active{fill:var(--green)}.st-standby-active{fill:var(--blue)}
.st-promoting,.st-demoting,.st-suspect-partition{fill:var(--amber)}.st-held,.st-both-down{fill:var(--red)}
.caption{margin:6px 0 0;color:var(--muted)}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:var(--muted);margin-top:6px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.legend .l-line{background:var(--accent)}.legend .l-fail{background:var(--red);opacity:.5}
table.events{width:100%;border-collapse:collapse;font-size:14px}
table.events td{border-top:1px solid var(--line);padding:7px 8px 7px 0;vertical-align:top}
table.events td.when{white-space:nowrap;color:var(--muted);font-size:13px;width:1%}
.sev{display:inline-block;font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.05em;padding:1px 6px;border-radius:4px;margin-right:6px}
.sev-info{background:var(--grey-bg);color:var(--grey)}.sev-warning{background:var(--amber-bg);color:var(--amber)}.sev-critical{background:var(--red-bg);color:var(--red)}
.evidence{margin:4px 0 0;padding-left:18px;color:var(--muted);font-size:13px}
.next{margin:4px 0 0;font-size:13px}
.scroll{max-height:420px;overflow:auto}
table.repl{width:100%;border-collapse:collapse;font-size:14px;margin:10px 0 0}
table.repl th{text-align:left;font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em;font-weight:600;padding:0 8px 4px 0}
table.repl td{border-top:1px solid var(--line);padding:6px 8px 6px 0;vertical-align:top;overflow-wrap:anywhere}
footer{color:var(--muted);font-size:13px;margin:24px 0 8px}
@media (max-width:600px){.wrap{padding:10px}.pair{padding:12px}table.events td.when{white-space:normal}
input[type=password]{width:100%}form.token{width:100%}}
`;
