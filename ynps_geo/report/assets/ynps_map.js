/* ynps_geo map runtime (project code, MIT). ES5 only: office PCs may run old browsers.
 * ynpsMap(map, D) builds the data layers from the data object D written by
 * ynps_geo.report.maps and returns {layer: function(key) {...}}.
 */
function ynpsMap(map, D) {
  "use strict";
  var state = { std: -1 };  // -1: all standards, else index into D.standards
  var RED = D.colors.uncovered, GREEN = D.colors.covered, GREY = D.colors.na;
  var UNKNOWN = D.colors.unknown || GREY;  // status 2: the data cannot decide
  var COMPACT_WIDTH = 1000;  // px: narrower maps start with the legend and layers folded
  var panes = { choro: 380, iso: 390, bound: 395, people: 398, villages: 420 };  // iso: folium
  var k;
  for (k in panes) {
    if (Object.prototype.hasOwnProperty.call(panes, k)) {
      map.createPane("ynps-" + k).style.zIndex = panes[k];
    }
  }
  map.getPane("ynps-bound").style.pointerEvents = "none";

  function villageColor(p) {
    var c = p.c, i, any = false, unknown = false;
    if (state.std >= 0) {
      var v = c[state.std];
      return v === 0 ? RED : (v === 1 ? GREEN : (v === 2 ? UNKNOWN : GREY));
    }
    for (i = 0; i < c.length; i++) {
      if (c[i] === 0) { return RED; }
      if (c[i] === 1) { any = true; }
      if (c[i] === 2) { unknown = true; }
    }
    return unknown ? UNKNOWN : (any ? GREEN : GREY);
  }
  function shareColor(s) {
    if (s === null || s === undefined) { return GREY; }
    var b = D.share_classes, i;
    for (i = 0; i < b.length; i++) {
      if (s < b[i][0]) { return b[i][1]; }
    }
    return b[b.length - 1][1];
  }
  function pct(s) {
    return (s === null || s === undefined) ? D.labels.no_data : (100 * s).toFixed(1) + "%";
  }

  var built = {};
  var builders = {
    villages: function () {
      return L.geoJSON(D.villages, {
        pane: "ynps-villages",
        pointToLayer: function (f, ll) {
          return L.circleMarker(ll, {
            pane: "ynps-villages", radius: f.properties.r, className: "ynps-village",
            color: "#ffffff", weight: 1, fillColor: villageColor(f.properties), fillOpacity: 0.92
          });
        },
        onEachFeature: function (f, layer) {
          layer.bindPopup(f.properties.p, { maxWidth: 360 });
          layer.bindTooltip(f.properties.name, { direction: "top", offset: [0, -4] });
        }
      });
    },
    counties: function () {
      var g = L.geoJSON(D.counties, {
        pane: "ynps-bound", interactive: false,
        style: function () { return { color: "#333333", weight: 2, fill: false, opacity: 0.9 }; }
      });
      var i, c;
      for (i = 0; i < D.county_labels.length; i++) {
        c = D.county_labels[i];
        g.addLayer(L.tooltip({ permanent: true, direction: "center", className: "ynps-county-label" })
          .setLatLng([c[1], c[0]]).setContent(c[2]));
      }
      return g;
    },
    choropleth: function () {
      return L.geoJSON(D.counties, {
        pane: "ynps-choro",
        style: function (f) {
          return { fillColor: shareColor(f.properties.s[state.std + 1]), fillOpacity: 0.6,
                   color: "#555555", weight: 1 };
        },
        onEachFeature: function (f, layer) {
          layer.bindTooltip(function () {
            var title = state.std < 0 ? D.labels.all_standards : D.standards[state.std].title;
            return "<b>" + f.properties.county + "</b><br>" + title + "<br>" +
              D.labels.covered_share + ": " + pct(f.properties.s[state.std + 1]);
          }, { sticky: true });
        }
      });
    },
    people: function () {
      var g = L.layerGroup(), rend = L.canvas({ padding: 0.3, pane: "ynps-people" });
      var P = D.people, i, q;
      for (i = 0; i < P.pts.length; i++) {
        q = P.pts[i];
        g.addLayer(L.circleMarker([q[1], q[0]], {
          renderer: rend, radius: P.radius, stroke: false, fillColor: P.colors[q[2]],
          fillOpacity: 0.75, interactive: false
        }));
      }
      return g;
    }
  };

  function layer(key) {
    if (!built[key]) {
      built[key] = builders[key]();
    }
    return built[key];
  }

  function clusterIcon(color) {
    return function (c) {
      var n = c.getChildCount(), s = n < 10 ? 26 : (n < 100 ? 32 : 38);
      return L.divIcon({
        html: "<div style=\"background:" + color + "\"><span>" + n + "</span></div>",
        className: "ynps-cluster", iconSize: [s, s]
      });
    };
  }

  function setStandard(i) {
    state.std = i;
    if (built.villages) {
      built.villages.eachLayer(function (l) {
        l.setStyle({ fillColor: villageColor(l.feature.properties) });
      });
    }
    if (built.choropleth) {
      built.choropleth.eachLayer(function (l) {
        l.setStyle({ fillColor: shareColor(l.feature.properties.s[state.std + 1]) });
      });
    }
  }

  var legendDiv = null;

  // A metric scale bar (Leaflet's default adds miles, which nobody here reads).
  function scale() {
    return L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  }

  // On a narrow window (a laptop, a projector at 800 px) the legend and the layer list would
  // cover the map and the popups: start them folded (a click on the legend's title or on the
  // layers icon opens them) and fold them again when a village's popup opens.
  function compact(layers) {
    if (map.getSize().x >= COMPACT_WIDTH) { return false; }
    function fold() {
      if (legendDiv) { L.DomUtil.addClass(legendDiv, "ynps-collapsed"); }
      if (layers) { layers.collapse(); }
    }
    if (layers) {
      map.on("click", layers.collapse, layers);
      L.DomEvent.on(layers.getContainer(), { mouseenter: layers.expand, mouseleave: layers.collapse },
                    layers);
    }
    map.on("popupopen", fold);
    fold();
    return true;
  }

  function legend(html) {
    var ctl = L.control({ position: "bottomleft" });
    ctl.onAdd = function () {
      var div = legendDiv = L.DomUtil.create("div", "ynps-legend leaflet-bar");
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      var sel = div.querySelector("select");
      if (sel) {
        L.DomEvent.on(sel, "change", function () { setStandard(parseInt(sel.value, 10)); });
      }
      var head = div.querySelector(".ynps-legend-head");
      if (head) {
        L.DomEvent.on(head, "click", function () {
          L.DomUtil.hasClass(div, "ynps-collapsed") ? L.DomUtil.removeClass(div, "ynps-collapsed")
            : L.DomUtil.addClass(div, "ynps-collapsed");
        });
      }
      return div;
    };
    ctl.addTo(map);
    return ctl;
  }

  return { layer: layer, clusterIcon: clusterIcon, legend: legend,
           scale: scale, compact: compact, setStandard: setStandard, state: state };
}
