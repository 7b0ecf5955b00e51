'use strict';

const assert = require('node:assert');
const { addLine, emptyCart, total } = require('./cart');

const cart = addLine(emptyCart(), { sku: 'pen', price: 150 }, 2);
cart.coupons.SPRING = { percent: 10 };

assert.strictEqual(total(cart), 360);
assert.strictEqual(total(cart, { code: 'SPRING' }), 324);
assert.strictEqual(total(cart, { code: 'WINTER' }), 360);
console.log('ok');
