// Shapes for the drawing canvas: types first, then the functions that measure them.

export enum Color {
  Red = 'red',
  Green = 'green',
  Blue = 'blue',
  Black = 'black',
}

export interface Point {
  x: number;
  y: number;
}

export interface Circle {
  kind: 'circle';
  color: Color;
  center: Point;
  radius: number;
}

export interface Rect {
  kind: 'rect';
  color: Color;
  origin: Point;
  width number;
  height: number;
}

export interface Triangle {
  kind: 'triangle';
  color: Color;
  a: Point;
  b: Point;
  c: Point;
}

export interface Line {
  kind: 'line';
  color: Color;
  start: Point;
  end: Point;
  width: number;
}

export interface Polygon {
  kind: 'polygon';
  color: Color;
  points: Point[];
}

export interface Ellipse {
  kind: 'ellipse';
  color: Color;
  center: Point;
  rx: number;
  ry: number;
}

export type Shape = Circle | Rect | Triangle | Line | Polygon | Ellipse;

export function distance(a: Point, b: Point): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

export function circleArea(c: Circle): number {
  return Math.PI * c.radius ** 2;
}

export function rectArea(r: Rect): number {
  return r.width * r.height;
}

export function triangleArea(t: Triangle): number {
  const { a, b, c } = t;
  return Math.abs((b.x - a.x) * (c.y - a.y) - (c.x - a.x) * (b.y - a.y)) / 2;
}

export function polygonArea(p: Polygon): number {
  let sum = 0;
  for (let i = 0; i < p.points.length; i++) {
    const a = p.points[i];
    const b = p.points[(i + 1) % p.points.length];
    sum += a.x * b.y - b.x * a.y;
  }
  return Math.abs(sum) / 2;
}

export function ellipseArea(e: Ellipse): number {
  return Math.PI * e.rx * e.ry;
}

export function area(s: Shape): number {
  switch (s.kind) {
    case 'circle':
      return circleArea(s);
    case 'rect':
      return rectArea(s);
    case 'triangle':
      return triangleArea(s);
    case 'polygon':
      return polygonArea(s);
    case 'ellipse':
      return ellipseArea(s);
    case 'line':
      return 0;
  }
}

export function perimeter(points: Point[]): number {
  let total = 0;
  for (let i = 0; i < points.length; i++) {
    total += distance(points[i], points[(i + 1) % points.length]);
  }
  return total;
}

export function centroid(points: Point[]): Point {
  const n = points.length;
  return {
    x: points.reduce((s, p) => s + p.x, 0) / n,
    y: points.reduce((s, p) => s + p.y, 0) / n,
  };
}

export function translate(p: Point, dx: number, dy: number): Point {
  return { x: p.x + dx, y: p.y + dy };
}

export function scale(p: Point, factor: number): Point {
  return { x: p.x * factor, y: p.y * factor };
}

export function bounds(points: Point[]): Rect {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const origin = { x: Math.min(...xs), y: Math.min(...ys) };
  return {
    kind: 'rect',
    color: Color.Black,
    origin,
    width: Math.max(...xs) - origin.x,
    height: Math.max(...ys) - origin.y,
  };
}

export function label(s: Shape): string {
  return `${s.color} ${s.kind} of area ${area(s).toFixed(2)}`;
}

export function largest(shapes: Shape[]): Shape | undefined {
  return shapes.reduce<Shape | undefined>((best, s) => (best && area(best) >= area(s) ? best : s), undefined);
}

export function byColor(shapes: Shape[]): Map<Color, Shape[]> {
  const groups = new Map<Color, Shape[]>();
  for (const s of shapes) {
    const list = groups.get(s.color) ?? [];
    list.push(s);
    groups.set(s.color, list);
  }
  return groups;
}
