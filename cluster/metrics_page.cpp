// The live page served at `/` by every worker's metrics server: one self-contained HTML document
// whose script draws the topology graph (the layered left-to-right layout of `sleet graph`:
// a component's column is its longest path from a spout) as SVG, and polls /api/status every
// second for rates, latencies, back-pressure (the node colour), sink epochs, checkpoints, restarts
// and lag.
// No CDN, no build step. Any thread (a constant).
#include "cluster/metrics_server.hpp"

namespace sleet {

const std::string& metrics_page_html() {
  static const std::string page = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sleet</title>
<style>
body{font:14px system-ui,sans-serif;margin:16px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:18px 0 6px}
table{border-collapse:collapse;background:#fff} td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f0f0f0} td:first-child,th:first-child{text-align:left}
#graph{background:#fff;border:1px solid #ddd} .muted{color:#777} .bad{color:#b00}
</style></head><body>
<h1 id="title">Sleet</h1><div id="summary" class="muted">loading…</div>
<h2>Topology</h2><svg id="graph" width="800" height="200"></svg>
<h2>Components</h2><table id="components"><thead><tr><th>component</th><th>kind</th><th>tasks</th>
<th>in</th><th>out</th><th>rate in/s</th><th>rate out/s</th><th>p99 execute</th><th>back-pressure</th>
<th>lag</th><th>skipped</th><th>dead-lettered</th><th>failed</th></tr></thead><tbody></tbody></table>
<h2>Sinks</h2><table id="sinks"><thead><tr><th>sink</th><th>tasks</th><th>epochs pending</th>
<th>epochs published</th><th>p99 publish</th></tr></thead><tbody></tbody></table>
<h2>Checkpoints</h2><table id="checkpoints"><thead><tr><th>id</th><th>outcome</th><th>duration</th>
<th>bytes</th><th>age</th><th>reason</th></tr></thead><tbody></tbody></table>
<h2>Restarts</h2><table id="restarts"><thead><tr><th>at</th><th>reason</th></tr></thead><tbody></tbody></table>
<h2>Partitions</h2><table id="partitions"><thead><tr><th>component</th><th>topic</th><th>partition</th>
<th>next offset</th><th>high watermark</th><th>lag</th></tr></thead><tbody></tbody></table>
<script>
"use strict";
let topo=null, pos={};
const NS="http://www.w3.org/2000/svg";
function el(tag,attrs,text){const e=document.createElementNS(NS,tag);for(const k in attrs)e.setAttribute(k,attrs[k]);if(text!==undefined)e.textContent=text;return e;}
function esc(s){return String(s).replace(/[&<>"]/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));}
function rate(r){if(r>=1e6)return (r/1e6).toFixed(2)+"M";if(r>=1e3)return (r/1e3).toFixed(1)+"k";return r.toFixed(r<10?1:0);}
function secs(s){if(s===null||s===undefined)return "–";if(s<1e-3)return (s*1e6).toFixed(0)+" µs";if(s<1)return (s*1e3).toFixed(1)+" ms";return s.toFixed(2)+" s";}
function colour(share){const x=Math.max(0,Math.min(1,share||0));const r=Math.round(120+135*x),g=Math.round(200-150*x),b=Math.round(120-70*x);return `rgb(${r},${g},${b})`;}
function layout(){
  const col={}; topo.components.forEach(c=>col[c.id]=0);
  for(let i=0;i<topo.components.length;i++)topo.streams.forEach(s=>{if(col[s.to]<col[s.from]+1)col[s.to]=col[s.from]+1;});
  const rows={}; let maxRow=0, maxCol=0;
  topo.components.forEach(c=>{const k=col[c.id];rows[k]=(rows[k]||0);pos[c.id]={x:30+k*200,y:30+rows[k]*80};rows[k]++;maxRow=Math.max(maxRow,rows[k]);maxCol=Math.max(maxCol,k);});
  const svg=document.getElementById("graph"); svg.setAttribute("width",Math.max(400,maxCol*200+200)); svg.setAttribute("height",maxRow*80+30);
  svg.appendChild(el("defs",{})).appendChild(el("marker",{id:"arrow",markerWidth:10,markerHeight:10,refX:9,refY:3,orient:"auto"})).appendChild(el("path",{d:"M0,0 L9,3 L0,6 z",fill:"#555"}));
  topo.streams.forEach(s=>{const a=pos[s.from],b=pos[s.to];svg.appendChild(el("line",{x1:a.x+150,y1:a.y+25,x2:b.x,y2:b.y+25,stroke:"#555","marker-end":"url(#arrow)"}));});
  topo.components.forEach(c=>{const p=pos[c.id];const g=el("g",{id:"node-"+c.id,"class":"node"});
    g.appendChild(el("rect",{x:p.x,y:p.y,width:150,height:50,rx:c.kind==="spout"?25:6,fill:colour(0),stroke:"#333"}));
    g.appendChild(el("text",{x:p.x+75,y:p.y+20,"text-anchor":"middle","font-weight":"bold"},c.id));
    g.appendChild(el("text",{x:p.x+75,y:p.y+40,"text-anchor":"middle","class":"rate","font-size":"12"},"–"));
    svg.appendChild(g);});
}
function fill(id,rows){document.querySelector("#"+id+" tbody").innerHTML=rows.join("")||'<tr><td class="muted" colspan="13">none</td></tr>';}
function render(st){
  document.getElementById("summary").textContent=`worker ${st.worker_id||"local"} · up ${(st.elapsed_s||0).toFixed(0)} s · last checkpoint ${st.last_checkpoint||0} · in ${rate(st.in_rate||0)}/s · out ${rate(st.out_rate||0)}/s`;
  const comps=st.components||[];
  fill("components",comps.map(c=>`<tr data-component="${esc(c.id)}"><td>${esc(c.id)}</td><td>${c.kind}</td><td>${c.tasks}</td><td>${c.tuples_in}</td><td>${c.tuples_out}</td><td class="rate-in">${rate(c.rate_in)}</td><td class="rate-out">${rate(c.rate_out)}</td><td>${secs(c.execute_p99_seconds)}</td><td>${(100*c.backpressure_share).toFixed(0)}%</td><td>${c.lag===null?"–":c.lag}</td><td>${c.skipped}</td><td>${c.dead_lettered}</td><td class="${c.failed?"bad":""}">${c.failed}</td></tr>`));
  comps.forEach(c=>{const g=document.getElementById("node-"+c.id);if(!g)return;g.querySelector("rect").setAttribute("fill",colour(c.backpressure_share));
    g.querySelector(".rate").textContent=(c.kind==="spout"?rate(c.rate_out):rate(c.rate_in))+"/s"+(c.execute_p99_seconds!==null?" · p99 "+secs(c.execute_p99_seconds):"");});
  fill("sinks",comps.filter(c=>c.sink_epochs_published!==null&&c.sink_epochs_published!==undefined).map(c=>`<tr data-sink="${esc(c.id)}"><td>${esc(c.id)}</td><td>${c.tasks}</td><td class="epochs-pending">${c.sink_epochs_pending}</td><td class="epochs-published">${c.sink_epochs_published}</td><td>${secs(c.sink_publish_p99_seconds)}</td></tr>`));
  fill("checkpoints",(st.checkpoints||[]).map(k=>`<tr><td>${k.id}</td><td class="${k.outcome==="completed"?"":"bad"}">${k.outcome}</td><td>${secs(k.duration_seconds)}</td><td>${k.bytes}</td><td>${k.age_seconds.toFixed(1)} s</td><td>${esc(k.reason)}</td></tr>`));
  fill("restarts",(st.restarts||[]).map(r=>`<tr><td>${esc(r.at)}</td><td>${esc(r.reason)}</td></tr>`));
  fill("partitions",(st.partitions||[]).map(p=>`<tr><td>${esc(p.component)}</td><td>${esc(p.topic)}</td><td>${p.partition}</td><td>${p.next_offset}</td><td>${p.high_watermark}</td><td>${p.lag}</td></tr>`));
}
async function poll(){
  try{
    if(!topo){topo=await (await fetch("/api/topology")).json();document.getElementById("title").textContent="Sleet · "+topo.name;layout();}
    render(await (await fetch("/api/status",{cache:"no-store"})).json());
  }catch(e){document.getElementById("summary").textContent="worker not answering: "+e;}
  setTimeout(poll,1000);
}
poll();
</script></body></html>
)HTML";
  return page;
}

}  // namespace sleet
