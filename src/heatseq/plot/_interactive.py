"""Interactive scatter plots as self-contained HTML fragments (volcano and MA).

This module owns :func:`render_html`: it turns the prepared points of a volcano or MA plot
(see :mod:`heatseq.plot.volcano`) into one ``<div>`` holding two stacked canvases (points;
hover and brush overlay), a search box, a legend with counts, the caption, the data as
compact JSON (4 significant digits) in a ``<script type="application/json">`` and a small
inline vanilla-JavaScript viewer. Nothing is loaded from elsewhere, so the fragment works
offline and inside a single-file report; every element is found from the fragment's own
root, so several fragments can share a page. The viewer draws the axes and ticks, the
point cloud (one canvas path per group, fast for 60,000 points), non-overlapping labels of
the top genes, a tooltip of the nearest point under the mouse (gene ID, symbol, baseMean,
LFC, padj), rings around the genes matching the search box, brush-to-zoom (drag a
rectangle) and double-click or the reset button to zoom out.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Mapping

import numpy as np

__all__ = ["render_html"]

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def render_html(payload: Mapping[str, object], *, width: int = 640, height: int = 480,
                element_id: str | None = None) -> str:
    """The HTML fragment of one interactive plot.

    Parameters
    ----------
    payload
        The plot's points and decorations, from :func:`heatseq.plot.volcano._payload`.
    width, height
        Size of the plot area in CSS pixels.
    element_id
        ``id`` of the root element; default ``"hs-"`` + a hash of the data, so the same
        plot gives the same bytes.

    Returns
    -------
    str
    """
    from heatseq.errors import InputError

    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) \
                or not 200 <= value <= 4000:
            raise InputError(f"{name}={value!r} is not valid; give a whole number of pixels "
                             "from 200 to 4000.")
    data = _data_json(payload)
    if element_id is None:
        element_id = "hs-" + hashlib.sha1(data.encode()).hexdigest()[:12]
    elif not isinstance(element_id, str) or not _ID.match(element_id):
        raise InputError(f"element_id={element_id!r} is not valid; use letters, digits, '-' "
                         "and '_', starting with a letter.")
    counts = payload["counts"]
    colors = payload["colors"]
    assert isinstance(counts, Mapping) and isinstance(colors, Mapping)
    legend = "".join(
        f'<span class="hs-key"><i style="background:{colors[g]}"></i>{html.escape(str(g))} '
        f'{int(counts[g]):,}</span>' for g in ("up", "down", "n.s."))
    title = html.escape(str(payload["title"]))
    caption = html.escape(str(payload["caption"]))
    return _TEMPLATE.format(id=element_id, width=int(width), height=int(height), title=title,
                            legend=legend, caption=caption, data=data, script=_SCRIPT,
                            style=_STYLE.replace("ROOT", "#" + element_id))


def _numbers(values: object) -> str:
    """A JSON array of numbers with 4 significant digits; NaN as null."""
    arr = np.asarray(values, dtype=float)
    if not arr.size:
        return "[]"
    text = np.char.mod("%.4g", arr)
    text[~np.isfinite(arr)] = "null"
    return "[" + ",".join(text.tolist()) + "]"


def _data_json(payload: Mapping[str, object]) -> str:
    plain = {k: v for k, v in payload.items()
             if k not in ("baseMean", "lfc", "padj", "x", "y", "group", "edge")}
    parts = [json.dumps(plain, ensure_ascii=True, separators=(",", ":"),
                        allow_nan=False)[:-1]]
    for key in ("baseMean", "lfc", "padj", "y"):
        parts.append(f',"{key}":{_numbers(payload[key])}')
    for key in ("group", "edge"):
        codes = np.asarray(payload[key], dtype=int)
        parts.append(f',"{key}":"{"".join(map(str, codes.tolist()))}"')
    text = "".join(parts) + "}"
    # safe inside <script>: no closing tag, no comment opener
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_STYLE = """
ROOT{font:12px/1.35 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222}
ROOT .hs-bar{display:flex;flex-wrap:wrap;align-items:center;gap:6px 12px;margin:0 0 4px}
ROOT .hs-title{font-weight:600;font-size:13px}
ROOT .hs-key{white-space:nowrap;margin-right:10px}
ROOT .hs-key i{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:3px}
ROOT input{font:inherit;padding:2px 5px;width:13em}
ROOT button{font:inherit;padding:1px 7px}
ROOT .hs-stage{position:relative;user-select:none}
ROOT canvas{position:absolute;left:0;top:0}
ROOT .hs-tip{position:absolute;pointer-events:none;display:none;background:#fff;
border:1px solid #999;border-radius:3px;padding:3px 6px;font-size:11px;white-space:nowrap;
box-shadow:0 1px 3px rgba(0,0,0,.2);z-index:2}
ROOT .hs-found{color:#555}
ROOT .hs-caption{color:#555;font-size:11px;margin:4px 0 0}
"""

_TEMPLATE = """<div class="heatseq-plot" id="{id}" style="max-width:{width}px">
<style>{style}</style>
<div class="hs-bar"><span class="hs-title">{title}</span><span>{legend}</span>
<input type="search" class="hs-search" placeholder="Find gene (ID or symbol)" aria-label="Find gene">
<span class="hs-found"></span><button type="button" class="hs-reset">Reset zoom</button></div>
<div class="hs-stage" style="width:{width}px;height:{height}px">
<canvas class="hs-points"></canvas><canvas class="hs-over"></canvas><div class="hs-tip"></div>
</div>
<p class="hs-caption">{caption} Drag to zoom, double-click to reset.</p>
<script type="application/json" class="hs-data">{data}</script>
<script>{script}</script>
</div>
"""

# The viewer. It finds its root as the element that holds the <script> being run.
_SCRIPT = r"""(function(){
var me=document.currentScript,root=me.parentNode;
var D=JSON.parse(root.querySelector(".hs-data").textContent);
var stage=root.querySelector(".hs-stage"),cv=root.querySelector(".hs-points"),
ov=root.querySelector(".hs-over"),tip=root.querySelector(".hs-tip"),
search=root.querySelector(".hs-search"),found=root.querySelector(".hs-found");
var W=parseInt(stage.style.width),H=parseInt(stage.style.height),r=window.devicePixelRatio||1;
[cv,ov].forEach(function(c){c.width=W*r;c.height=H*r;c.style.width=W+"px";c.style.height=H+"px";
c.getContext("2d").setTransform(r,0,0,r,0,0);});
var M={l:58,r:12,t:8,b:42},n=D.ids.length,logx=D.xscale==="log",vol=D.kind==="volcano";
var X=new Float64Array(n),Y=new Float64Array(n),PX=new Float32Array(n),PY=new Float32Array(n);
for(var i=0;i<n;i++){X[i]=vol?D.lfc[i]:D.baseMean[i];Y[i]=D.y[i];}
function tx(v){return logx?Math.log10(v):v;}
var full={x0:tx(D.xlim[0]),x1:tx(D.xlim[1]),y0:D.ylim[0],y1:D.ylim[1]},view=Object.assign({},full);
var selected=[];
function sx(v){return M.l+(tx(v)-view.x0)/(view.x1-view.x0)*(W-M.l-M.r);}
function sy(v){return H-M.b-(v-view.y0)/(view.y1-view.y0)*(H-M.t-M.b);}
function ticks(a,b){var span=b-a,step=Math.pow(10,Math.floor(Math.log10(span/5))),e=span/5/step;
step*=e>=5?5:e>=2?2:1;var out=[];for(var v=Math.ceil(a/step)*step;v<=b+1e-9*span;v+=step)
out.push(Math.abs(v)<step*1e-9?0:v);return out;}
function fmt(v){return Math.abs(v)>=1e4||(v!==0&&Math.abs(v)<1e-3)?v.toExponential(1):
String(+v.toPrecision(4));}
function inside(px,py){return px>=M.l&&px<=W-M.r&&py>=M.t&&py<=H-M.b;}
function draw(){var c=cv.getContext("2d");c.clearRect(0,0,W,H);c.save();
c.strokeStyle="#333";c.fillStyle="#333";c.lineWidth=1;c.font="11px sans-serif";
c.beginPath();c.moveTo(M.l,M.t);c.lineTo(M.l,H-M.b);c.lineTo(W-M.r,H-M.b);c.stroke();
c.textAlign="center";c.textBaseline="top";
var xt=ticks(view.x0,view.x1);xt.forEach(function(t){var p=M.l+(t-view.x0)/(view.x1-view.x0)*(W-M.l-M.r);
c.beginPath();c.moveTo(p,H-M.b);c.lineTo(p,H-M.b+4);c.stroke();
c.fillText(logx?(Number.isInteger(t)?"1e"+t:""):fmt(t),p,H-M.b+6);});
c.textAlign="right";c.textBaseline="middle";
ticks(view.y0,view.y1).forEach(function(t){var p=sy(t);c.beginPath();c.moveTo(M.l-4,p);
c.lineTo(M.l,p);c.stroke();c.fillText(fmt(t),M.l-6,p);});
c.textAlign="center";c.textBaseline="bottom";c.fillText(D.xlabel,(M.l+W-M.r)/2,H-2);
c.save();c.translate(12,(M.t+H-M.b)/2);c.rotate(-Math.PI/2);c.textBaseline="middle";
c.fillText(D.ylabel,0,0);c.restore();
c.beginPath();c.rect(M.l,M.t,W-M.l-M.r,H-M.t-M.b);c.clip();
c.setLineDash([4,3]);c.strokeStyle="#888";
D.vlines.forEach(function(v){c.beginPath();c.moveTo(sx(v),M.t);c.lineTo(sx(v),H-M.b);c.stroke();});
D.hlines.forEach(function(v){c.beginPath();c.moveTo(M.l,sy(v));c.lineTo(W-M.r,sy(v));c.stroke();});
c.setLineDash([]);
if(!vol){c.strokeStyle="#444";c.beginPath();c.moveTo(M.l,sy(0));c.lineTo(W-M.r,sy(0));c.stroke();}
for(i=0;i<n;i++){PX[i]=sx(X[i]);PY[i]=sy(Y[i]);}
var cols=[D.colors["n.s."],D.colors.up,D.colors.down],rad=[1.3,1.9,1.9];
[0,2,1].forEach(function(g){c.fillStyle=cols[g];c.globalAlpha=g?0.85:0.7;c.beginPath();
for(var k=0;k<n;k++){if(+D.group[k]!==g)continue;var px=PX[k],py=PY[k];
if(px<M.l-3||px>W-M.r+3||py<M.t-3||py>H-M.b+3)continue;
if(D.edge[k]==="0"){c.moveTo(px+rad[g],py);c.arc(px,py,rad[g],0,6.2832);}
else{var s=D.edge[k]==="1"?-1:1;c.moveTo(px-3,py-s*2);c.lineTo(px+3,py-s*2);c.lineTo(px,py+s*3);}}
c.fill();});
c.globalAlpha=1;labels(c,D.labels,D.bold);c.restore();}
function labels(c,idx,bold){var boxes=[];c.textBaseline="alphabetic";
idx.forEach(function(k,j){var px=PX[k],py=PY[k];if(!inside(px,py))return;
c.font=(bold[j]?"bold ":"")+"10px sans-serif";var t=D.label_text[j]!==undefined&&idx===D.labels?
D.label_text[j]:(D.symbols[k]||D.ids[k]);var w=c.measureText(t).width,h=10;
var cand=[[5,-4],[5,h+3],[-w-5,-4],[-w-5,h+3],[-w/2,-7],[-w/2,h+7],[9,-12],[-w-9,-12]];
for(var q=0;q<cand.length;q++){var x0=px+cand[q][0],y1=py+cand[q][1],b=[x0,y1-h,x0+w,y1];
if(!inside(b[0],b[1])||!inside(b[2],b[3]))continue;
if(boxes.some(function(o){return b[0]<o[2]+2&&o[0]<b[2]+2&&b[1]<o[3]+2&&o[1]<b[3]+2;}))continue;
boxes.push(b);c.fillStyle="#111";c.fillText(t,x0,y1);
if(bold[j]){c.strokeStyle="#000";c.lineWidth=1.2;c.beginPath();c.arc(px,py,4.5,0,6.2832);c.stroke();}
break;}});}
function overlay(hover,brush){var c=ov.getContext("2d");c.clearRect(0,0,W,H);
c.save();c.beginPath();c.rect(M.l,M.t,W-M.l-M.r,H-M.t-M.b);c.clip();
selected.forEach(function(k){c.strokeStyle="#000";c.lineWidth=1.5;c.beginPath();
c.arc(PX[k],PY[k],5.5,0,6.2832);c.stroke();});
labels(c,selected,selected.map(function(){return false;}));
if(hover>=0){c.strokeStyle="#000";c.lineWidth=1;c.beginPath();c.arc(PX[hover],PY[hover],4,0,6.2832);c.stroke();}
if(brush){c.fillStyle="rgba(60,110,200,0.12)";c.strokeStyle="rgba(60,110,200,0.8)";
c.fillRect(brush[0],brush[1],brush[2]-brush[0],brush[3]-brush[1]);
c.strokeRect(brush[0],brush[1],brush[2]-brush[0],brush[3]-brush[1]);}c.restore();}
function nearest(px,py){var best=-1,bd=49;for(var k=0;k<n;k++){var dx=PX[k]-px,dy=PY[k]-py,
d=dx*dx+dy*dy;if(d<bd){bd=d;best=k;}}return best;}
function show(k,px,py){if(k<0){tip.style.display="none";return;}
var p=D.padj[k];tip.innerHTML="";[["gene",D.ids[k]],["symbol",D.symbols[k]||"\u2013"],
["baseMean",fmt(D.baseMean[k])],["log2FC",fmt(D.lfc[k])],["padj",p===null?"NA":fmt(p)]].forEach(
function(row){var d=document.createElement("div");var b=document.createElement("b");
b.textContent=row[0]+": ";d.appendChild(b);d.appendChild(document.createTextNode(row[1]));
tip.appendChild(d);});tip.style.display="block";
tip.style.left=Math.min(px+12,W-150)+"px";tip.style.top=Math.max(py-10,0)+"px";}
var start=null,frame=0;
function pos(e){var b=ov.getBoundingClientRect();return[e.clientX-b.left,e.clientY-b.top];}
ov.addEventListener("mousedown",function(e){start=pos(e);});
window.addEventListener("mouseup",function(e){if(!start)return;var p=pos(e),s=start;start=null;
if(Math.abs(p[0]-s[0])>5&&Math.abs(p[1]-s[1])>5){
function ix(v){return view.x0+(v-M.l)/(W-M.l-M.r)*(view.x1-view.x0);}
function iy(v){return view.y0+(H-M.b-v)/(H-M.t-M.b)*(view.y1-view.y0);}
view={x0:ix(Math.min(s[0],p[0])),x1:ix(Math.max(s[0],p[0])),y0:iy(Math.max(s[1],p[1])),
y1:iy(Math.min(s[1],p[1]))};draw();}overlay(-1,null);});
ov.addEventListener("mousemove",function(e){var p=pos(e);if(frame)return;
frame=requestAnimationFrame(function(){frame=0;if(start){overlay(-1,[Math.min(start[0],p[0]),
Math.min(start[1],p[1]),Math.max(start[0],p[0]),Math.max(start[1],p[1])]);tip.style.display="none";return;}
var k=inside(p[0],p[1])?nearest(p[0],p[1]):-1;overlay(k,null);show(k,p[0],p[1]);});});
ov.addEventListener("mouseleave",function(){if(!start){overlay(-1,null);show(-1);}});
function reset(){view=Object.assign({},full);draw();overlay(-1,null);}
ov.addEventListener("dblclick",reset);root.querySelector(".hs-reset").addEventListener("click",reset);
var lowId=D.ids.map(function(s){return s.toLowerCase();}),
lowSym=D.symbols.map(function(s){return s.toLowerCase();});
search.addEventListener("input",function(){var q=search.value.trim().toLowerCase();selected=[];
if(q){for(var k=0;k<n;k++)if(lowId[k]===q||lowSym[k]===q||lowId[k].split(".")[0]===q)selected.push(k);
if(!selected.length&&q.length>1)for(k=0;k<n&&selected.length<50;k++)
if(lowSym[k].indexOf(q)===0||lowId[k].indexOf(q)===0)selected.push(k);}
found.textContent=q?(selected.length?selected.length+" found":"not found"):"";overlay(-1,null);});
draw();overlay(-1,null);
})();"""
