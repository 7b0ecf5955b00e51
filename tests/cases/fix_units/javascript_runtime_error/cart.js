'use strict';

// A shopping cart: lines of products with quantities, prices in cents.

const TAX_RATE = 0.2;

function lineTotal(line) {
  return line.price * line.quantity;
}

function subtotal(cart) {
  return cart.lines.reduce((sum, line) => sum + lineTotal(line), 0);
}

function applyCoupon(cart, coupon) {
  if (!coupon) {
    return subtotal(cart);
  }
  const rule = cart.coupons[coupon.code];
  const off = rule.percent ? Math.round(subtotal(cart) * rule.percent / 100) : rule.amount;
  return Math.max(0, subtotal(cart) - off);
}

function tax(amount) {
  return Math.round(amount * TAX_RATE);
}

function total(cart, coupon) {
  const net = applyCoupon(cart, coupon);
  return net + tax(net);
}

function addLine(cart, product, quantity) {
  const existing = cart.lines.find((line) => line.sku === product.sku);
  if (existing) {
    existing.quantity += quantity;
  } else {
    cart.lines.push({ sku: product.sku, price: product.price, quantity });
  }
  return cart;
}

function removeLine(cart, sku) {
  cart.lines = cart.lines.filter((line) => line.sku !== sku);
  return cart;
}

function itemCount(cart) {
  return cart.lines.reduce((n, line) => n + line.quantity, 0);
}

function formatCents(cents) {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

function summary(cart, coupon) {
  return [
    `${itemCount(cart)} items`,
    `subtotal ${formatCents(subtotal(cart))}`,
    `total ${formatCents(total(cart, coupon))}`,
  ].join(', ');
}

function emptyCart() {
  return { lines: [], coupons: {} };
}

module.exports = { addLine, removeLine, total, summary, emptyCart, formatCents };
